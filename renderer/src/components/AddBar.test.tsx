// @vitest-environment happy-dom
/**
 * "Add by path": Enter always reaches the form's submit (its button is aria-disabled, never
 * disabled: a disabled default button makes the browser drop Enter, and a path typed just before
 * Enter was lost when the button had not re-rendered yet); an empty field adds nothing.
 */
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import { JobOptions, type ResponseOf } from '../../../preload/contract.ts';
import { queuedJob } from '../testing/fake-api.ts';
import { fakeApp, renderHarness } from '../testing/render-app.test-support.tsx';
import { AddBar } from './AddBar.tsx';
import { QueueView } from './QueueView.tsx';

const render = renderHarness();

function type(input: HTMLInputElement, value: string) {
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, value);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

describe('AddBar', () => {
  it('keeps the submit button enabled for Enter; empty adds nothing; two paths in a row are two adds', async () => {
    const { el, api } = await render(<AddBar />);
    const input = el.querySelector('input[aria-label="Add by path"]') as HTMLInputElement;
    const button = el.querySelector('button[type=submit]') as HTMLButtonElement;
    const form = el.querySelector('form') as HTMLFormElement;
    const adds = () => api.calls.filter((c) => c.channel === 'jobs:add-files').map((c) => c.request);

    expect(button.disabled).toBe(false);
    expect(button.getAttribute('aria-disabled')).toBe('true');
    await act(async () => form.requestSubmit());
    expect(adds()).toEqual([]);

    await act(async () => type(input, '/m/one.flac'));
    expect(button.getAttribute('aria-disabled')).toBe('false');
    await act(async () => form.requestSubmit());
    await act(async () => type(input, '/m/two.flac'));
    await act(async () => form.requestSubmit());
    expect(adds()).toEqual([{ paths: ['/m/one.flac'] }, { paths: ['/m/two.flac'] }]);
    expect(input.value).toBe('');
  });

  it('a path typed while the first add is answered survives the empty screen giving way to the queue, with the focus', async () => {
    const app = fakeApp();
    app.store.setState({ loaded: true });
    const answers: ((r: ResponseOf<'jobs:add-files'>) => void)[] = [];
    app.api.override('jobs:add-files', () => new Promise((resolve) => answers.push(resolve)));
    const { el } = await render(<QueueView />, app);
    const field = () => el.querySelector('input[aria-label="Add by path"]') as HTMLInputElement;
    const emptyField = field();
    expect(el.querySelector('#empty-title')).not.toBeNull();

    await act(async () => emptyField.focus());
    await act(async () => type(emptyField, '/m/one.flac'));
    await act(async () => emptyField.form!.requestSubmit());
    await act(async () => type(emptyField, '/m/two.flac'));
    expect(answers).toHaveLength(1);

    // The first add is answered: its job appears, and the queue (with its own field) replaces the empty screen.
    const job = queuedJob({ id: 'j1', name: 'one.flac', inputPath: '/m/one.flac', batchId: null, relativePath: null, options: JobOptions.parse({}), outputDir: '/out/one', createdAt: 1 });
    await act(async () => answers[0]({ jobs: [job], batches: [], rejected: [] }));
    expect(el.querySelector('#queue-title')).not.toBeNull();
    expect(emptyField.isConnected).toBe(false);
    expect(field().value).toBe('/m/two.flac');
    expect(document.activeElement).toBe(field());

    await act(async () => field().form!.requestSubmit());
    expect(app.api.calls.filter((c) => c.channel === 'jobs:add-files').map((c) => c.request)).toEqual([{ paths: ['/m/one.flac'] }, { paths: ['/m/two.flac'] }]);
    expect(field().value).toBe('');
  });
});
