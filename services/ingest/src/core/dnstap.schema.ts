/**
 * proto/dnstap.proto as protobufjs JSON (`Root.toJSON()` of the loaded file), so the decoder is
 * built at import without reading a file. dnstap.spec.ts checks it against the .proto; after
 * changing the .proto, paste the JSON that test prints here.
 */
export const DNSTAP_SCHEMA = {
  nested: {
    dnstap: {
      nested: {
        Dnstap: {
          edition: 'proto2',
          fields: {
            identity: { type: 'bytes', id: 1 },
            version: { type: 'bytes', id: 2 },
            extra: { type: 'bytes', id: 3 },
            type: { rule: 'required', type: 'Type', id: 15 },
            message: { type: 'Message', id: 14 },
          },
          nested: { Type: { values: { MESSAGE: 1 } } },
        },
        SocketFamily: { edition: 'proto2', values: { INET: 1, INET6: 2 } },
        SocketProtocol: {
          edition: 'proto2',
          values: { UDP: 1, TCP: 2, DOT: 3, DOH: 4, DNSCryptUDP: 5, DNSCryptTCP: 6, DOQ: 7 },
        },
        HttpProtocol: { edition: 'proto2', values: { HTTP1: 1, HTTP2: 2, HTTP3: 3 } },
        Policy: {
          edition: 'proto2',
          fields: {
            type: { type: 'string', id: 1 },
            rule: { type: 'bytes', id: 2 },
            action: { type: 'Action', id: 3 },
            match: { type: 'Match', id: 4 },
            value: { type: 'bytes', id: 5 },
          },
          nested: {
            Match: { values: { QNAME: 1, CLIENT_IP: 2, RESPONSE_IP: 3, NS_NAME: 4, NS_IP: 5 } },
            Action: {
              values: { NXDOMAIN: 1, NODATA: 2, PASS: 3, DROP: 4, TRUNCATE: 5, LOCAL_DATA: 6 },
            },
          },
        },
        Message: {
          edition: 'proto2',
          fields: {
            type: { rule: 'required', type: 'Type', id: 1 },
            socketFamily: { type: 'SocketFamily', id: 2 },
            socketProtocol: { type: 'SocketProtocol', id: 3 },
            queryAddress: { type: 'bytes', id: 4 },
            responseAddress: { type: 'bytes', id: 5 },
            queryPort: { type: 'uint32', id: 6 },
            responsePort: { type: 'uint32', id: 7 },
            queryTimeSec: { type: 'uint64', id: 8 },
            queryTimeNsec: { type: 'fixed32', id: 9 },
            queryMessage: { type: 'bytes', id: 10 },
            queryZone: { type: 'bytes', id: 11 },
            responseTimeSec: { type: 'uint64', id: 12 },
            responseTimeNsec: { type: 'fixed32', id: 13 },
            responseMessage: { type: 'bytes', id: 14 },
            policy: { type: 'Policy', id: 15 },
            httpProtocol: { type: 'HttpProtocol', id: 16 },
          },
          nested: {
            Type: {
              values: {
                AUTH_QUERY: 1,
                AUTH_RESPONSE: 2,
                RESOLVER_QUERY: 3,
                RESOLVER_RESPONSE: 4,
                CLIENT_QUERY: 5,
                CLIENT_RESPONSE: 6,
                FORWARDER_QUERY: 7,
                FORWARDER_RESPONSE: 8,
                STUB_QUERY: 9,
                STUB_RESPONSE: 10,
                TOOL_QUERY: 11,
                TOOL_RESPONSE: 12,
                UPDATE_QUERY: 13,
                UPDATE_RESPONSE: 14,
              },
            },
          },
        },
      },
    },
  },
};
