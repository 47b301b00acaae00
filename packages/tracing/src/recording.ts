// Public API of event recording (levels, logs, metrics, spans, dispatch). Owned by the recording modules.
export {};
