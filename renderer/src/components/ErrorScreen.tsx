import { Fragment } from 'react';
import { Icon } from './Icon.tsx';

/** Renders `code` spans in a message. */
function withCode(text: string) {
  return text.split('`').map((part, i) => (i % 2 ? <code key={i}>{part}</code> : <Fragment key={i}>{part}</Fragment>));
}

export function ErrorScreen({ title, message, hint }: { title: string; message: string; hint?: string }) {
  return (
    <div className="fatal" role="alert" aria-labelledby="fatal-title">
      <div className="fatal-card">
        <span className="fatal-icon">
          <Icon name="alert" size={28} />
        </span>
        <h1 id="fatal-title">{title}</h1>
        <p>{withCode(message)}</p>
        {hint && <p className="muted">{withCode(hint)}</p>}
        <button type="button" className="btn btn-accent" onClick={() => window.location.reload()}>
          <Icon name="retry" size={16} /> Try again
        </button>
      </div>
    </div>
  );
}

export function Splash() {
  return (
    <div className="fatal" role="status" aria-label="Starting Demix">
      <div className="splash">
        <span className="brand-mark">
          <Icon name="logo" size={24} />
        </span>
        <span>Connecting to Demix…</span>
      </div>
    </div>
  );
}
