#!/usr/bin/env node
import { buildProgram } from '../src/cli/program.ts';

await (await buildProgram(process.argv)).parseAsync(process.argv);
