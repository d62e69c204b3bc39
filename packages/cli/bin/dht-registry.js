#!/usr/bin/env node
// Checks the Node.js version, then runs the dht-registry command.
import { check } from "./node-version.js"

check("dht-registry")
await import("../src/bin/dht-registry.ts")
