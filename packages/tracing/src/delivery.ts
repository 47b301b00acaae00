// Public API of event delivery (sinks, process info, start-up and shutdown, interop, demo producer).
export {};
