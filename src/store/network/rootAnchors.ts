/**
 * The IANA root KSKs (KSK-2017, tag 20326, and KSK-2024, tag 38696) as DS records, from
 * https://data.iana.org/root-anchors/root-anchors.xml: the trust anchors a new configuration starts
 * with ("dnsconfig trustanchor" changes them; trustAnchors.ts reads them).
 */
export const ROOT_ANCHOR_LINES = [
  '. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D',
  '. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16',
];
