// Process-wide settings that must be in place before anything starts; main.ts imports this first.
// The AWS SDK warns on every start about its future Node.js requirements; nothing to act on here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= '1';
