// Validates docs/openapi.yaml against the OpenAPI 3.1 specification schema
// (an independent validator: @apidevtools/swagger-parser). Exit 0 when valid.
import SwaggerParser from "@apidevtools/swagger-parser";

try {
  const api = await SwaggerParser.validate(process.argv[2]);
  console.log(`valid OpenAPI ${api.openapi}: ${Object.keys(api.paths).length} paths`);
} catch (e) {
  console.error(String(e.message || e));
  process.exit(1);
}
