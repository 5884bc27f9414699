#!/usr/bin/env node
import { buildProgram } from '../src/cli/program.ts';

await buildProgram().parseAsync(process.argv);
