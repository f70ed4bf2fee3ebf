// IP syntax as Go's net.ParseIP/ParseCIDR accept it: no zones, no leading zeros in IPv4.

/** True for a dotted-quad IPv4 address. */
export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** True for an IPv6 address (with optional embedded IPv4 tail). */
export function isIPv6(s: string): boolean {
  if (!s.includes(':')) return false;
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return false;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = dbl >= 0 ? groups(s.slice(0, dbl)) : groups(s);
  const tail = dbl >= 0 ? groups(s.slice(dbl + 2)) : [];
  const all = [...head, ...tail];
  // An embedded IPv4 may only be the textually last group ("1.2.3.4::" is not an address).
  const endsWithGroup = (dbl >= 0 ? tail : head).length > 0;
  let words = 0;
  for (const [i, g] of all.entries()) {
    if (endsWithGroup && i === all.length - 1 && g.includes('.')) {
      if (!isIPv4(g)) return false;
      words += 2;
    } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) {
      words += 1;
    } else {
      return false;
    }
  }
  return dbl >= 0 ? words < 8 : words === 8;
}

/** True for an IPv4 or IPv6 address. */
export function isIP(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

/** True for an address with a prefix length ("10.1.2.3/24"), as Go's net.ParseCIDR accepts it. */
export function isCIDR(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0 || slash !== s.lastIndexOf('/')) return false;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(len)) return false;
  return isIPv4(addr) ? Number(len) <= 32 : isIPv6(addr) && Number(len) <= 128;
}

/** True for an address with an optional prefix length ("10.1.2.3" or "10.1.2.3/24"). */
export function isIPOrCIDR(s: string): boolean {
  return isIP(s) || isCIDR(s);
}

/** The address family of an IP ("4" or "6"). */
export function ipFamily(s: string): '4' | '6' {
  return s.includes(':') ? '6' : '4';
}

/**
 * The family of a default-route destination, or undefined for any other one. A destination is a
 * default route when its prefix length is 0, whatever its address ("0.0.0.0/0", "::/0", "::0/0",
 * "10.0.0.0/0"); iproute2's shorthand "0/0" counts as IPv4.
 */
export function defaultRouteFamily(dst: string): '4' | '6' | undefined {
  const slash = dst.indexOf('/');
  const addr = dst.slice(0, slash);
  if (slash < 0 || dst.slice(slash + 1) !== '0') return undefined;
  if (addr === '0') return '4';
  return isCIDR(dst) ? ipFamily(addr) : undefined;
}

/** True for a hardware address of `bytes` octets written as hex pairs separated by ':' or '-'. */
export function isHardwareAddr(s: string, bytes: number[]): boolean {
  const parts = s.split(/[:-]/);
  return bytes.includes(parts.length) && parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p));
}
