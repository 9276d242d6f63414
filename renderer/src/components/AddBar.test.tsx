// @vitest-environment happy-dom
/**
 * "Add by path": Enter always reaches the form's submit (its button is aria-disabled, never
 * disabled: a disabled default button makes the browser drop Enter, and a path typed just before
 * Enter was lost when the button had not re-rendered yet); an empty field adds nothing.
 */
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import { renderHarness } from '../testing/render-app.test-support.tsx';
import { AddBar } from './AddBar.tsx';

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
});
