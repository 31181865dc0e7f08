/**
 * How every suite launches Debian's Chromium: headless, and as quiet on the network as it can be made
 * (no sync, update, metrics or safe-browsing calls), since tests talk to loopback only.
 */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-domain-reliability', '--disable-client-side-phishing-detection', '--no-pings',
  '--disable-default-apps', '--disable-quic',
];
