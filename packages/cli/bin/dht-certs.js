#!/usr/bin/env node
// Checks the Node.js version, then runs the dht-certs command.
import { run } from "./run.js"

await run("dht-certs")
