import { useDemix } from '../context.tsx';
import { Icon } from './Icon.tsx';

export function Toasts() {
  const toasts = useDemix((s) => s.toasts);
  const dismiss = useDemix((s) => s.dismissToast);
  return (
    <div className="toasts" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'}>
          <span className="toast-icon">
            <Icon name={t.kind === 'error' ? 'alert' : t.kind === 'success' ? 'check' : 'pulse'} size={18} />
          </span>
          <div className="toast-body">
            <div className="toast-title">{t.title}</div>
            {t.lines && t.lines.length > 0 && (
              <ul className="toast-lines">
                {t.lines.map((l, i) => (
                  <li key={i}>{l}</li>
                ))}
              </ul>
            )}
          </div>
          <button type="button" className="icon-btn" aria-label="Dismiss notification" onClick={() => dismiss(t.id)}>
            <Icon name="x" size={16} />
          </button>
        </div>
      ))}
    </div>
  );
}
