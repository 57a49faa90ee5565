// Validates an OpenAPI document (a file path) with @seriousme/openapi-schema-validator against
// the official OpenAPI schemas; prints the result as JSON and exits 1 when it is not valid.
// Used by tests/tests/openapi.rs.
import { Validator } from "@seriousme/openapi-schema-validator";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate-openapi.mjs <openapi.json>");
  process.exit(2);
}
const validator = new Validator();
const result = await validator.validate(file);
console.log(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? null }));
process.exit(result.valid ? 0 : 1);
