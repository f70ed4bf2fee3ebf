declare module '*.node' { const bytes: Uint8Array; export default bytes; }
