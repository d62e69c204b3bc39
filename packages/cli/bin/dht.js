#!/usr/bin/env node
// Checks the Node.js version, then runs the dht command.
import { check } from "./node-version.js"

check("dht")
await import("../src/bin/dht.ts")
