#!/usr/bin/env node
import { Command } from "effect/cli"
import { command } from "../CertsCommand.ts"
import { run } from "../Main.ts"

run(Command.run(command, { version: "0.1.0" }))
