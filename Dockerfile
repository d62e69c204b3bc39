# One image for all four binaries: dht, dht-registry, dht-client, dht-certs.
# Node 24 runs the TypeScript sources directly; there is no build step.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
# Optional dependencies stay: lmdb (--data-dir) takes its prebuilt binary from one.
RUN npm ci --omit=dev --no-audit --no-fund
ENV PATH=/app/node_modules/.bin:$PATH
EXPOSE 50000 50001
# SIGTERM makes a node leave the ring gracefully; give it time before a SIGKILL.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dht"]
