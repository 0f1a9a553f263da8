// Request helpers shared by bundled scenarios: tagged request parameters and a
// weighted choice of the request an iteration sends.

/**
 * Returns k6 request params with the `name` tag set. k6 then reports the request
 * under that name instead of its URL (the `url` tag takes the name too), which
 * keeps ids out of metric names.
 */
export function tagged(name, params) {
  const result = Object.assign({}, params || {});
  result.tags = Object.assign({}, result.tags || {}, { name });
  return result;
}

/**
 * Returns a picker that returns one of the functions in `choices` ([weight, fn]
 * pairs) at random, in proportion to the weights. The weights need not add up to 1.
 */
export function weightedPicker(choices) {
  const total = choices.reduce((sum, choice) => sum + choice[0], 0);
  if (!(total > 0)) throw new Error('weightedPicker needs at least one positive weight');

  return function pick() {
    let remaining = Math.random() * total;
    for (const [weight, fn] of choices) {
      remaining -= weight;
      if (remaining < 0) return fn;
    }
    return choices[choices.length - 1][1];
  };
}

/** Returns `res.json(path)`, or undefined when the body is missing or not JSON (a timeout, for example). */
export function jsonField(res, path) {
  try {
    return res.json(path);
  } catch (error) {
    return undefined;
  }
}
