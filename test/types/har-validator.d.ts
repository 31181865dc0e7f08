/**
 * har-validator ships no types. Each export validates one HAR 1.2 object type against the schema:
 * it resolves with the input when valid and rejects with a HARError (carrying the ajv `errors`) otherwise.
 */
declare module 'har-validator' {
  type Validate = <T>(data: T) => Promise<T>;
  const validator: {
    har: Validate;
    log: Validate;
    entry: Validate;
    request: Validate;
    response: Validate;
  };
  export = validator;
}
