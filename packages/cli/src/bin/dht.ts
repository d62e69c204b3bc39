#!/usr/bin/env node
import { Command } from "effect/cli"
import { run, VERSION } from "../Main.ts"
import { command } from "../NodeCommand.ts"

run(Command.run(command, { version: VERSION }))
