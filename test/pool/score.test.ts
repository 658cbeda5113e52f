import { expect } from 'chai';
import { evolveScore, initialScoreState, latencyScore, scoreOf, type HealthReport, type ScoreState } from '../../domain/pool/score.ts';
import { seededRng } from '../gateway/prng.ts';

const up = (latencyMs: number | null = 200, ip: string | null = '100.64.0.1'): HealthReport => ({ online: true, latencyMs, ip });
const down: HealthReport = { online: false, latencyMs: null, ip: null };
const times = (n: number, report: HealthReport) => Array.from({ length: n }, () => report);

/** given(reports) → the folded state and its score. */
const given = (reports: HealthReport[]): { state: ScoreState; score: number } => {
  const state = reports.reduce(evolveScore, initialScoreState());
  return { state, score: scoreOf(state) };
};
/** The score after each report, in order. */
const trajectory = (reports: HealthReport[]) => {
  let state = initialScoreState();
  return reports.map((r) => scoreOf((state = evolveScore(state, r))));
};

describe('pool score', () => {
  describe('latency curve λ', () => {
    it('is 1 up to 300 ms, 0 from 5 s, 0.5 at their geometric mean, and falls in between', () => {
      expect(latencyScore(0)).to.equal(1);
      expect(latencyScore(300)).to.equal(1);
      expect(latencyScore(5000)).to.equal(0);
      expect(latencyScore(60_000)).to.equal(0);
      expect(latencyScore(Math.sqrt(300 * 5000))).to.be.closeTo(0.5, 1e-12);
      expect(latencyScore(1000)).to.be.closeTo(0.5720589, 1e-6);
      const samples = [301, 400, 800, 1500, 3000, 4999].map(latencyScore);
      for (let i = 1; i < samples.length; i++) expect(samples[i]!).to.be.below(samples[i - 1]!);
    });

    it('treats a never-measured latency as neutral (0.5)', () => expect(latencyScore(null)).to.equal(0.5));
  });

  describe('eligibility', () => {
    it('given no report, the device is unproven and scores 0', () => expect(given([]).score).to.equal(0));

    it('given a first online report, it scores by the formula', () => {
      // S = 1, U = 1, P = 1 (priors), λ(1000 ms) = 0.5720589 → 0.45 + 0.25·0.5720589 + 0.15 + 0.15
      expect(given([up(1000)]).score).to.be.closeTo(0.8930147, 1e-6);
    });

    it('given a healthy history, a fast stable device scores 1', () => expect(given(times(10, up(150))).score).to.equal(1));

    it('given a healthy history then one failed report, the device is offline now and scores 0', () =>
      expect(given([...times(10, up()), down]).score).to.equal(0));

    it('given its last 3 reports failed, the device scores 0', () =>
      expect(given([...times(10, up()), down, down, down]).score).to.equal(0));

    it('given an online report, the score is never 0 even after a long outage', () =>
      expect(given([...times(50, down), up(10_000, null)]).score).to.be.above(0));
  });

  describe('failure and recovery', () => {
    it('failing probes lower the score the device comes back with: the longer the outage, the lower', () => {
      const history = times(10, up());
      // one failure: S 0.8 → 0.84, U 0.95 → 0.9525
      const afterOne = given([...history, down, up()]).score;
      expect(afterOne).to.be.closeTo(0.45 * 0.84 + 0.25 + 0.15 * 0.9525 + 0.15, 1e-12);
      // three failures: S 0.512 → 0.6096, U 0.857375 → 0.86450625
      const afterThree = given([...history, down, down, down, up()]).score;
      expect(afterThree).to.be.closeTo(0.45 * 0.6096 + 0.25 + 0.15 * 0.86450625 + 0.15, 1e-12);
      expect(afterThree).to.be.below(afterOne);
      expect(afterOne).to.be.below(1);
    });

    it('recovery raises the score with every good report, back towards 1', () => {
      const scores = trajectory([...times(5, up()), ...times(3, down), ...times(30, up())]).slice(8);
      for (let i = 1; i < scores.length; i++) expect(scores[i]!).to.be.above(scores[i - 1]!);
      expect(scores.at(-1)!).to.be.above(0.99);
    });

    it('a flapping device ranks below a steady one with the same latency', () => {
      const flapping = given(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? down : up()))).score;
      expect(flapping).to.be.above(0).and.below(given(times(20, up())).score);
    });
  });

  describe('latency', () => {
    it('the first measured latency seeds the average, later ones move it by α = 0.2', () => {
      expect(given([up(100)]).state.latencyMs).to.equal(100);
      expect(given([up(100), up(1100)]).state.latencyMs).to.be.closeTo(300, 1e-9);
    });

    it('a slower device scores lower', () => expect(given(times(5, up(2000))).score).to.be.below(given(times(5, up(400))).score));

    it('offline reports and reports without a latency leave it alone', () =>
      expect(given([up(800), { online: false, latencyMs: 9000, ip: null }, up(null)]).state.latencyMs).to.equal(800));
  });

  describe('IP stability', () => {
    it('IP churn lowers stability by α = 0.2 per change and with it the score', () => {
      const churn = given(['a', 'b', 'c', 'd', 'e'].map((n) => up(200, `100.64.0.${n.charCodeAt(0)}`)));
      expect(churn.state.ipStability).to.be.closeTo(0.8 ** 4, 1e-12);
      expect(churn.score).to.be.closeTo(0.85 + 0.15 * 0.8 ** 4, 1e-12);
      expect(given(times(5, up(200, '100.64.0.1'))).state.ipStability).to.equal(1);
    });

    it('compares consecutive online reports that carry an IP: outages and unknown IPs are not changes', () => {
      const { state } = given([up(200, '100.64.0.1'), down, up(200, null), up(200, '100.64.0.1')]);
      expect(state.ipStability).to.equal(1);
      expect(state.lastIp).to.equal('100.64.0.1');
    });

    it('a steady IP after churn raises stability again', () => {
      const churned = given([up(200, '1.1.1.1'), up(200, '2.2.2.2')]).state.ipStability;
      expect(given([up(200, '1.1.1.1'), up(200, '2.2.2.2'), up(200, '2.2.2.2')]).state.ipStability).to.be.above(churned);
    });
  });

  it('stays within [0, 1] and is 0 exactly when the latest report is offline (seeded random histories)', () => {
    const rng = seededRng(20261120);
    for (let run = 0; run < 200; run++) {
      let state = initialScoreState();
      for (let i = 0; i < 40; i++) {
        const report: HealthReport = rng.bool(0.7)
          ? { online: true, latencyMs: rng.bool(0.9) ? rng.int(8000) : null, ip: rng.bool(0.8) ? `10.0.0.${rng.int(3)}` : null }
          : down;
        state = evolveScore(state, report);
        const score = scoreOf(state);
        expect(score, `seed run ${run} step ${i}`).to.be.within(0, 1);
        expect(score === 0, `seed run ${run} step ${i}`).to.equal(!report.online);
      }
    }
  });
});
