// The Flight / Flight SQL messages live in @micromegas/client (one copy of the .proto files for the
// client and this server); re-exported here so the server's imports stay as they were.
export * from '@micromegas/client/proto';
