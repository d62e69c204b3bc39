#!/usr/bin/env node
// Checks the Node.js version, then runs the dht-client command.
import { check } from "./node-version.js"

check("dht-client")
await import("../src/bin/dht-client.ts")
