#!/usr/bin/env node
import { Command } from "effect/cli"
import { command } from "../CertsCommand.ts"
import { run, VERSION } from "../Main.ts"

run(Command.run(command, { version: VERSION }))
