#!/usr/bin/env node
import { Command } from "effect/cli"
import { run } from "../Main.ts"
import { command } from "../RegistryCommand.ts"

run(Command.run(command, { version: "0.1.0" }))
