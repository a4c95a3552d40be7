// Convert an SFDX project from source format to Metadata API format with Salesforce's own
// library, the way `sf project deploy start --source-dir <dir>` does before it sends anything
// to an org: ComponentSetBuilder.build (source paths + the project's sourceApiVersion), then
// MetadataConverter.convert(components, 'metadata', { type: 'zip' }), which is what
// MetadataApiDeploy does to build the deploy zip. Offline: no org, no credentials.
//
// Usage: node convert.mjs <sfdx-project-dir> <output-dir>
// Writes <output-dir>/deploy.zip (package.xml + converted components, as the CLI would send
// it) and prints one line: "conversion succeeded: N components". When the library refuses the
// project, prints its message on stderr and exits 1.
//
// Versions (package.json, locked by package-lock.json; install with `make metadata-check`):
// source-deploy-retrieve 12.36.7 is the newest line that runs on Node 20 (13.x needs Node 22).
// Its @salesforce/core is held at 8.31.3 and that core's @jsforce/jsforce-node at 3.10.16,
// both inside the declared ranges, because later releases pull undici 8, which needs Node 22
// and fails to load on Node 20. jsforce only talks to orgs; the conversion never uses it.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import sdr from '@salesforce/source-deploy-retrieve';

const { ComponentSetBuilder, MetadataConverter, RegistryAccess } = sdr;

async function convert(projectDir, outputDir) {
  const project = JSON.parse(await readFile(join(projectDir, 'sfdx-project.json'), 'utf8'));
  const sourcePaths = project.packageDirectories.map((dir) => join(projectDir, dir.path));
  // The CLI resolves the project from the working directory; do the same.
  process.chdir(projectDir);
  const components = await ComponentSetBuilder.build({
    sourceapiversion: project.sourceApiVersion,
    sourcepath: sourcePaths,
    projectDir,
  });
  if (components.size === 0) {
    throw new Error(`no metadata components found under ${sourcePaths.join(', ')}`);
  }
  const converter = new MetadataConverter(new RegistryAccess(undefined, projectDir));
  const { zipBuffer } = await converter.convert(components, 'metadata', { type: 'zip' });
  await mkdir(outputDir, { recursive: true });
  await writeFile(join(outputDir, 'deploy.zip'), zipBuffer);
  return components.size;
}

const [projectArg, outputArg] = process.argv.slice(2);
if (!projectArg || !outputArg) {
  console.error('usage: node convert.mjs <sfdx-project-dir> <output-dir>');
  process.exit(2);
}
try {
  const count = await convert(resolve(projectArg), resolve(outputArg));
  console.log(`conversion succeeded: ${count} components`);
} catch (error) {
  console.error(`metadata-check: ${error.name ?? 'Error'}: ${error.message}`);
  process.exit(1);
}
