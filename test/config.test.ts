import { expect } from 'chai';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('config from the environment', () => {
  it('defaults to the embedded shape', () => {
    const config = loadConfig({});
    expect(config).to.include({ PORT: 3000, DATA_DIR: './data', READ_YOUR_WRITES_TIMEOUT_MS: 5000 });
    expect(config.DATABASE_URL).to.equal(undefined);
    expect(config.ROLES).to.deep.equal(['api', 'projector', 'worker', 'gateway', 'relay']);
  });

  it('reads the single-node and production variables', () => {
    const config = loadConfig({
      PORT: '8080', DATABASE_URL: 'postgres://u@db:5432/x', REDIS_URL: 'redis://r:6379', EVENTSTORE_URL: 'esdb://es:2113?tls=false', ROLES: 'api',
    });
    expect(config).to.include({ PORT: 8080, DATABASE_URL: 'postgres://u@db:5432/x', REDIS_URL: 'redis://r:6379', EVENTSTORE_URL: 'esdb://es:2113?tls=false' });
    expect(config.ROLES).to.deep.equal(['api']);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).DATABASE_URL).to.equal(undefined);
  });

  it('names every bad variable and what is wrong with it', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', REDIS_URL: 'nope', ROLES: 'api,cook', ADMIN_API_KEY: 'short' });
    } catch (e) { error = e; }
    expect(error).to.be.instanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'ROLES', 'ADMIN_API_KEY']) expect(problems).to.contain(name);
    expect(problems).to.contain('postgres or postgresql');
    expect(problems).to.contain('at least 16 characters');
  });
});
