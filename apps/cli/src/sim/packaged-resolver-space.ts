import {
  countrySourceOf,
  loadPackagedAsnTable,
  MmdbFile,
  packagedDataPaths,
} from '@sluice/enrichment';
import { ResolverSpace } from '@sluice/traffic-sim';

/**
 * The access networks of the enrichment's packaged data (its IP-to-ASN table, each row's
 * country from its country database) as a ResolverSpace, for `sluice simulate --resolver-space
 * allocated`: simulated resolvers land in real networks, and the enrichment maps every one to a
 * country and an ASN. Takes a few seconds (half a million rows, two country lookups each).
 */
export function packagedResolverSpace(): ResolverSpace {
  const table = loadPackagedAsnTable();
  const country = countrySourceOf(MmdbFile.open(packagedDataPaths().countryMmdb));
  return ResolverSpace.fromRanges(table.ranges(), (family, address) =>
    family === 4
      ? country.lookup({ family, value: Number(address) })
      : country.lookup({ family, value: address }),
  );
}
