/**
 * Certificates of a cluster, made with `@peculiar/x509` over Node's WebCrypto: a CA, node
 * certificates and client certificates, all ECDSA P-256. A node certificate is told from a
 * client one by its extended key usage: nodes have `serverAuth` and `clientAuth` (they serve,
 * and dial their peers), clients only `clientAuth`, so a client certificate cannot serve as a
 * node or make node-to-node calls. The files are the ones `--certs-dir` reads (see `Tls` in
 * `@crustyring/protocol`).
 */
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { webcrypto } from "node:crypto"
import * as net from "node:net"

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

type Key = webcrypto.CryptoKey

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const

/** Certificates last this long; the CA ten times as long. */
export const VALIDITY_DAYS = 365

/** A certificate and its private key, as PEM. */
export interface Pair {
  readonly cert: string
  readonly key: string
}

const DAY = 86_400_000

const serial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString("hex").replace(/^[89a-f]/, "1")

const pemKey = async (key: Key) =>
  x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY")

/** A new cluster CA: self-signed, allowed to sign certificates and nothing else. */
export const createCa = async (now: Date = new Date()): Promise<Pair> => {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: "CN=Crusty Ring CA,O=Crusty Ring",
    notBefore: now,
    notAfter: new Date(now.getTime() + 10 * VALIDITY_DAYS * DAY),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  return { cert: cert.toString("pem"), key: await pemKey(keys.privateKey) }
}

/** Why a CA cannot be used. */
export class CaError extends Error {}

const loadCa = async (ca: Pair) => {
  let cert: x509.X509Certificate
  try {
    cert = new x509.X509Certificate(ca.cert)
  } catch {
    throw new CaError("ca.crt is not a PEM certificate")
  }
  let key: Key
  try {
    key = await webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(ca.key), ALGORITHM, false, ["sign"])
  } catch {
    throw new CaError("ca.key is not a PEM ECDSA P-256 private key (made by dht-certs create-ca)")
  }
  // The key must be the certificate's: sign with it, and check with the certificate.
  const probe = new TextEncoder().encode("crusty-ring")
  const signature = await webcrypto.subtle.sign(ALGORITHM, key, probe)
  const publicKey = await cert.publicKey.export(ALGORITHM, ["verify"])
  if (!(await webcrypto.subtle.verify(ALGORITHM, publicKey, signature, probe))) throw new CaError("ca.key does not belong to ca.crt")
  return { cert, key }
}

const leaf = async (
  ca: Pair,
  subject: string,
  usages: ReadonlyArray<string>,
  names: ReadonlyArray<x509.JsonGeneralName>,
  now: Date
): Promise<Pair> => {
  const issuer = await loadCa(ca)
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"])
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuer.cert.subject,
    notBefore: now,
    notAfter: new Date(now.getTime() + VALIDITY_DAYS * DAY),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: issuer.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([...usages]),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert, false),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [])
    ]
  })
  return { cert: cert.toString("pem"), key: await pemKey(keys.privateKey) }
}

/** Whether `host` is an IP address (v4 or v6), which goes into the certificate as one. */
const isIp = (host: string) => net.isIP(host) !== 0

/** Checks a host name for a certificate: an IP address, or a DNS name (a leading `*.` allowed). */
export const hostProblem = (host: string): string | undefined =>
  isIp(host) || /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(host)
    ? undefined
    : `${JSON.stringify(host)} is neither an IP address nor a DNS name`

/** A node certificate for `hosts` (DNS names and IP addresses), signed by `ca`. */
export const createNode = (ca: Pair, hosts: ReadonlyArray<string>, now: Date = new Date()): Promise<Pair> =>
  leaf(
    ca,
    "CN=node,O=Crusty Ring",
    [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    hosts.map((h) => (isIp(h) ? { type: "ip", value: h } : { type: "dns", value: h })),
    now
  )

/** Checks a client's name: letters, digits, `.`, `_` and `-`, as it goes into a file name. */
export const nameProblem = (name: string): string | undefined =>
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)
    ? undefined
    : `${JSON.stringify(name)} is not a client name: use up to 64 letters, digits, ".", "_" or "-"`

/** A client certificate for `name`, signed by `ca`. */
export const createClient = (ca: Pair, name: string, now: Date = new Date()): Promise<Pair> =>
  leaf(ca, `CN=${name},O=Crusty Ring`, [x509.ExtendedKeyUsage.clientAuth], [], now)
