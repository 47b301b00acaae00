// Process-wide settings that must be in place before anything starts; main.ts imports this first.
// Durable object writes block a libuv thread each for an fsync: 16 threads (Node's default is 4)
// let concurrent requests share journal commits instead of queueing behind each other.
process.env.UV_THREADPOOL_SIZE ??= '16';
// The AWS SDK warns on every start about its future Node.js requirements; nothing to act on here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= '1';
