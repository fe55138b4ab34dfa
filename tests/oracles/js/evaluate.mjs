// The reference oracle of the flag-evaluation differential test: GrowthBook's JS SDK (the version pinned in
// package-lock.json) evaluates every (payload, user, feature) of one JSON file, one evaluation at a time.
//
//   node evaluate.mjs CASES.json RESULTS.json
//
// CASES.json:   {"cases": [{"payload": {...}, "features": ["f0", ...], "users": [{...}, ...]}, ...]}
// RESULTS.json: {"sdkVersion": "...", "results": [case][user][feature] = [value, source, ruleId, experiment]}
//               where experiment is null, or the assignment: {variationId, inExperiment, hashUsed, bucket,
//               key, hashAttribute, hashValue, name, passthrough, stickyBucketUsed, experimentKey}.
//
// One process for the whole file: starting node per case would cost more than every evaluation together.
import { readFileSync, writeFileSync } from "node:fs";
import { GrowthBookClient } from "@growthbook/growthbook";

process.env.NODE_ENV = "production"; // no development-only logging
console.error = () => {}; // the SDK reports unknown operators on stderr; the results say all that matters

const [, , inPath, outPath] = process.argv;
if (!inPath || !outPath) {
  process.stderr.write("usage: node evaluate.mjs CASES.json RESULTS.json\n");
  process.exit(2);
}

function assignment(res) {
  const r = res.experimentResult;
  if (!r) return null;
  return {
    variationId: r.variationId,
    inExperiment: r.inExperiment,
    hashUsed: r.hashUsed,
    bucket: r.bucket === undefined ? null : r.bucket,
    key: r.key,
    hashAttribute: r.hashAttribute,
    hashValue: r.hashValue,
    name: r.name === undefined ? null : r.name,
    passthrough: !!r.passthrough,
    stickyBucketUsed: r.stickyBucketUsed,
    experimentKey: res.experiment ? res.experiment.key : null,
  };
}

const { cases } = JSON.parse(readFileSync(inPath, "utf8"));
let version = "";
const results = cases.map(({ payload, features, users }) => {
  const client = new GrowthBookClient({}).initSync({ payload, streaming: false });
  version = client.version;
  return users.map((attributes) =>
    features.map((key) => {
      const res = client.evalFeature(key, { attributes });
      return [res.value === undefined ? null : res.value, res.source, res.ruleId, assignment(res)];
    }),
  );
});
writeFileSync(outPath, JSON.stringify({ sdkVersion: version, results }));
