// TEST DOUBLE — preloaded (node --import) into a plain Node child by the electron mock's
// utilityProcess.fork: gives it the `process.parentPort` an Electron utility process has
// ('message' events carrying { data }, postMessage), over Node's IPC channel. Like Electron's
// port, it holds messages until something listens for them.
import { EventEmitter } from 'node:events';

const parentPort = new EventEmitter();
const held = [];
let listening = false;
parentPort.postMessage = (m) => process.send({ __utility: m });
parentPort.on('newListener', (event) => {
  if (event !== 'message' || listening) return;
  listening = true;
  setImmediate(() => {
    while (held.length) parentPort.emit('message', { data: held.shift(), ports: [] });
  });
});
process.on('message', (m) => (listening && !held.length ? parentPort.emit('message', { data: m, ports: [] }) : held.push(m)));
process.parentPort = parentPort;
