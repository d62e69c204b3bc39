#!/usr/bin/env node
// Checks the Node.js version, then runs the dht-client command.
import { run } from "./run.js"

await run("dht-client")
