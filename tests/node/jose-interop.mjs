// JOSE interop peer for tests/unit/jose/interop.c: the `jose` npm package
// (panva) as an independent implementation.
//
//   node jose-interop.mjs encrypt PUB.jwk IN OUT       compact JWE (RSA-OAEP-256, A256GCM)
//   node jose-interop.mjs decrypt PRIV.jwk IN OUT      writes plaintext; prints header JSON
//   node jose-interop.mjs sign-set PRIV.jwk IN OUT     PS512 SET, typ secevent+jwt, payload from IN
//   node jose-interop.mjs verify-set PUB.jwk IN OUT    verifies PS512 + typ, writes payload
//
// jose 6 turns key_ops into WebCrypto usages, and FIT-Connect's ["wrapKey"]
// then fails on encrypt (it wraps with subtle.encrypt); we drop key_ops
// (and use) before importJWK, as bench/peer-node does.
import { readFileSync, writeFileSync } from 'node:fs';
import * as jose from 'jose';

const [cmd, keyFile, inFile, outFile] = process.argv.slice(2);
if (!cmd || !keyFile || !inFile || !outFile) {
  console.error('usage: jose-interop.mjs encrypt|decrypt|sign-set|verify-set KEY IN OUT');
  process.exit(2);
}
const jwk = JSON.parse(readFileSync(keyFile, 'utf8'));
delete jwk.key_ops;
delete jwk.use;
const input = readFileSync(inFile);

try {
  if (cmd === 'encrypt') {
    const key = await jose.importJWK(jwk, 'RSA-OAEP-256');
    const jwe = await new jose.CompactEncrypt(input)
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: jwk.kid, cty: 'application/json' })
      .encrypt(key);
    writeFileSync(outFile, jwe);
  } else if (cmd === 'decrypt') {
    const key = await jose.importJWK(jwk, 'RSA-OAEP-256');
    const { plaintext, protectedHeader } = await jose.compactDecrypt(input.toString('utf8'), key, {
      keyManagementAlgorithms: ['RSA-OAEP-256'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    writeFileSync(outFile, plaintext);
    console.log(JSON.stringify(protectedHeader));
  } else if (cmd === 'sign-set') {
    const key = await jose.importJWK(jwk, 'PS512');
    const jws = await new jose.CompactSign(input)
      .setProtectedHeader({ alg: 'PS512', typ: 'secevent+jwt', kid: jwk.kid })
      .sign(key);
    writeFileSync(outFile, jws);
  } else if (cmd === 'verify-set') {
    const key = await jose.importJWK(jwk, 'PS512');
    const { payload, protectedHeader } = await jose.compactVerify(input.toString('utf8'), key, {
      algorithms: ['PS512'],
    });
    if (protectedHeader.typ !== 'secevent+jwt') throw new Error(`typ is ${protectedHeader.typ}`);
    writeFileSync(outFile, payload);
    console.log(JSON.stringify(protectedHeader));
  } else {
    console.error(`unknown command ${cmd}`);
    process.exit(2);
  }
} catch (e) {
  console.error(`jose-interop ${cmd}: ${e.code || ''} ${e.message}`);
  process.exit(1);
}
