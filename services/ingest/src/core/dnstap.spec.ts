import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { decodeDnstap, DnstapMessageType, encodeDnstap } from './dnstap';
import { DNSTAP_SCHEMA } from './dnstap.schema';

describe('DNSTAP_SCHEMA', () => {
  it('is proto/dnstap.proto (on failure, paste the JSON below into dnstap.schema.ts)', () => {
    const proto = protobuf.loadSync(join(__dirname, '../../proto/dnstap.proto')).toJSON();
    if (JSON.stringify(proto) !== JSON.stringify(DNSTAP_SCHEMA)) console.log(JSON.stringify(proto));
    expect(DNSTAP_SCHEMA).toEqual(proto);
  });
});

describe('decodeDnstap', () => {
  const base = {
    type: DnstapMessageType.AUTH_QUERY,
    socketFamily: 1,
    socketProtocol: 1,
    queryAddress: Buffer.from([192, 0, 2, 1]),
    queryTimeSec: 1_700_000_000,
    queryMessage: Buffer.from('12340100000100000000000001610000010001', 'hex'),
  };

  it('reads a query frame', () => {
    const r = decodeDnstap(encodeDnstap({ ...base, queryPort: 40000 }));
    expect(r).toMatchObject({ ok: true, event: { resolver: '192.0.2.1', resolverPort: 40000 } });
  });

  it('times a response without query_time by its response_time, not the epoch', () => {
    const { queryTimeSec: _omit, queryMessage, ...rest } = base;
    const r = decodeDnstap(
      encodeDnstap({
        ...rest,
        type: DnstapMessageType.AUTH_RESPONSE,
        responseTimeSec: 1_700_000_001,
        responseTimeNsec: 5_000_000,
        responseMessage: queryMessage,
      }),
    );
    expect(r).toMatchObject({ ok: true, event: { isQuery: false, ts: 1_700_000_001_005 } });
  });

  it('counts a query_port above 65535 as malformed (it became a record outside the contract)', () => {
    expect(decodeDnstap(encodeDnstap({ ...base, queryPort: 70_000 }))).toMatchObject({
      ok: false,
      reason: 'dnstap-decode',
    });
    // The frame-streams fuzz target's counterexample: one byte of a real frame changed, turning
    // query_port into the three-byte varint 67153.
    const found = Buffer.from(
      '725408011001180222044074b92a2a04c000023530d18c0438354080e2cfaa064d2ab18718522feb3800' +
        '0000010000000000010376706e0275730676696374696d0474657374000001000100002904d000000000' +
        '00007801',
      'hex',
    );
    expect(decodeDnstap(found)).toMatchObject({ ok: false, reason: 'dnstap-decode' });
  });
});
