import { proxyLoginDecider, type LoginCommand, type LoginEvent, type LoginState } from '../../../domain/ports/decide.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const at = '2026-11-20T12:00:00.000Z';
const given = deciderSpec<LoginCommand, LoginEvent, LoginState>(proxyLoginDecider);
const claimed = (portId: string, claimedAt: string): LoginEvent => ({ type: 'ProxyLoginClaimed', data: { login: 'l1', portId, claimedAt } });

describe('proxy login claims (domain)', () => {
  it('a login is held by one port; another port is refused', () => {
    given([claimed('p1', '2026-11-20T11:00:00.000Z')]).when({ type: 'Claim', data: { login: 'l1', portId: 'p2' } }).thenThrows('PROXY_LOGIN_TAKEN', 'conflict');
  });

  it('the holder claiming again renews the claim (a credentials change retried after a crash)', () => {
    given([claimed('p1', '2026-11-20T11:00:00.000Z')]).when({ type: 'Claim', data: { login: 'l1', portId: 'p1' } }).then([claimed('p1', at)]);
  });

  it('a stranded claim is released only while it is the claim the worker judged', () => {
    const old = '2026-11-20T11:00:00.000Z';
    given([claimed('p1', old)]).when({ type: 'ReleaseStranded', data: { login: 'l1', portId: 'p1', claimedAt: old } })
      .then([{ type: 'ProxyLoginReleased', data: { login: 'l1', portId: 'p1', releasedAt: at, stranded: true } }]);
    // renewed in between, released already, or taken by another port since: nothing
    given([claimed('p1', old), claimed('p1', '2026-11-20T11:59:00.000Z')]).when({ type: 'ReleaseStranded', data: { login: 'l1', portId: 'p1', claimedAt: old } }).then([]);
    given([claimed('p1', old), { type: 'ProxyLoginReleased', data: { login: 'l1', portId: 'p1', releasedAt: old } }])
      .when({ type: 'ReleaseStranded', data: { login: 'l1', portId: 'p1', claimedAt: old } }).then([]);
    given([claimed('p2', old)]).when({ type: 'ReleaseStranded', data: { login: 'l1', portId: 'p1', claimedAt: old } }).then([]);
  });
});
