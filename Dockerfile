# oauth-lens image: the CLI (`oauth-lens start`), the demo IdP and the demo backend.
# Used by docker-compose.yml; any of the three is chosen by the command.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false

# Dependencies first (cached while only sources change). Dev dependencies are kept on purpose:
# the demo IdP is oidc-provider, a devDependency of oauth-lens itself.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm cache clean --force

COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY demo ./demo
RUN npm run build \
 && mkdir -p /certs /shared \
 && chown node:node /certs /shared

# Never run as root; named volumes mounted on /certs and /shared inherit node's ownership.
USER node
VOLUME ["/certs"]
EXPOSE 8080 8081

# Inside a container the proxy must listen on all interfaces so other containers can reach it;
# docker-compose.yml publishes its ports on the host's 127.0.0.1 only. See docs/run.md.
# The proxy's young generation stays small (as `npm start` does): see docs/proxy.md, "Benchmark".
ENV NODE_OPTIONS=--max-semi-space-size=2
CMD ["node", "dist/cli/main.js", "start", "--host", "0.0.0.0", "--port", "8080", "--ui-port", "8081", "--certs", "/certs"]
