import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reason } from '../../core/report-schema.js';
import { VERDICTS, type Verdict } from '../../core/schemas.js';
import { decideVerdict, failingExitCode, sortReasons, VERDICT_PRECEDENCE, verdictRank } from '../../core/verdict.js';

function reason(verdict: Verdict, code = `${verdict}_CODE`): Reason {
  return { code, verdict, message: `finding leading to ${verdict}` };
}

describe('VERDICT_PRECEDENCE', () => {
  it('lists every verdict once', () => {
    assert.deepEqual([...VERDICT_PRECEDENCE].sort(), [...VERDICTS].sort());
  });

  it('runs from ERROR to PASS', () => {
    assert.deepEqual(VERDICT_PRECEDENCE, [
      'ERROR',
      'INCOMPLETE',
      'STOPPED',
      'FAIL',
      'REGRESSION',
      'LEAK_SUSPECTED',
      'DRIFT',
      'PASS',
    ]);
  });
});

describe('decideVerdict', () => {
  it('passes without reasons', () => {
    assert.equal(decideVerdict([]), 'PASS');
  });

  for (const verdict of VERDICTS) {
    it(`takes a lone ${verdict}`, () => {
      assert.equal(decideVerdict([reason(verdict)]), verdict);
    });
  }

  for (const [higherIndex, higher] of VERDICT_PRECEDENCE.entries()) {
    for (const lower of VERDICT_PRECEDENCE.slice(higherIndex + 1)) {
      it(`prefers ${higher} over ${lower}`, () => {
        assert.equal(decideVerdict([reason(lower), reason(higher)]), higher);
        assert.equal(decideVerdict([reason(higher), reason(lower)]), higher);
      });
    }
  }
});

describe('sortReasons', () => {
  it('orders reasons by precedence', () => {
    const sorted = sortReasons([reason('DRIFT'), reason('PASS'), reason('ERROR'), reason('FAIL')]);
    assert.deepEqual(
      sorted.map((entry) => entry.verdict),
      ['ERROR', 'FAIL', 'DRIFT', 'PASS'],
    );
  });

  it('keeps the order of equal verdicts', () => {
    const sorted = sortReasons([reason('FAIL', 'A'), reason('DRIFT', 'B'), reason('FAIL', 'C')]);
    assert.deepEqual(
      sorted.map((entry) => entry.code),
      ['A', 'C', 'B'],
    );
  });

  it('leaves its input unchanged', () => {
    const input = [reason('DRIFT'), reason('ERROR')];
    sortReasons(input);
    assert.equal(input[0]?.verdict, 'DRIFT');
  });
});

describe('verdictRank', () => {
  it('ranks ERROR first and PASS last', () => {
    assert.equal(verdictRank('ERROR'), 0);
    assert.equal(verdictRank('PASS'), VERDICT_PRECEDENCE.length - 1);
  });
});

describe('failingExitCode', () => {
  const expected: Record<Verdict, number> = {
    PASS: 0,
    FAIL: 1,
    REGRESSION: 1,
    LEAK_SUSPECTED: 1,
    DRIFT: 1,
    INCOMPLETE: 3,
    ERROR: 3,
    STOPPED: 3,
  };
  for (const verdict of VERDICTS) {
    it(`exits ${expected[verdict]} for ${verdict}`, () => {
      assert.equal(failingExitCode(verdict), expected[verdict]);
    });
  }
});
