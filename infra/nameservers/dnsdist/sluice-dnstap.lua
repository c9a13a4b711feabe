-- dnsdist 1.7 in front of your authoritative servers: every client query (CLIENT_QUERY,
-- logged before any other rule, so refused floods are seen too) and every response to the
-- client (CLIENT_RESPONSE, which carries the rcode) go by dnstap over TCP to the Sluice
-- ingest's INGEST_DNSTAP_TCP listener. Add these lines to /etc/dnsdist/dnsdist.conf, above
-- your own addAction() rules. The address must be an IP (the ingest Service's or host's).
sluiceTap = newFrameStreamTcpLogger("192.0.2.10:6000")
addAction(AllRule(), DnstapLogAction("dns1.example.net", sluiceTap))
addResponseAction(AllRule(), DnstapLogResponseAction("dns1.example.net", sluiceTap))

-- Alternative without dnstap: a UDP copy of each query to INGEST_UDP_MIRROR; the resolver is
-- taken from the ECS option dnsdist adds (true), else the datagram's sender. Copies carry no
-- response, so no rcode: prefer dnstap.
-- addAction(AllRule(), TeeAction("192.0.2.10:5300", true))

-- The dnsdist side of the mitigation (blocklist and zone guard CDB files that the reputation
-- service writes) is in services/reputation/README.md ("dnsdist").
