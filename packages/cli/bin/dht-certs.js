#!/usr/bin/env node
// Checks the Node.js version, then runs the dht-certs command.
import { check } from "./node-version.js"

check("dht-certs")
await import("../src/bin/dht-certs.ts")
