import { digestHex, type Digest } from '../../registry/oci/index.js';

/** The in-toto statement type BuildKit writes (attestation-storage.md: an in-toto v0.1 statement per layer). */
export const IN_TOTO_STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
/** SLSA v1 provenance goes in a v1 statement, as BuildKit writes it with `version=v1`. */
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** The media type of an attestation manifest layer holding one in-toto statement. */
export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';
/** The layer annotation naming the statement's predicate type, so readers can pick one without fetching all. */
export const PREDICATE_TYPE_ANNOTATION = 'in-toto.io/predicate-type';

/** What a statement is about: a name and the digest of the image manifest. */
export interface Subject { name: string; digest: Record<string, string> }

/** An in-toto attestation statement (in-toto/attestation spec, Statement layer). */
export interface Statement<P> {
  _type: string;
  subject: Subject[];
  predicateType: string;
  predicate: P;
}

/** A subject for a manifest digest. */
export function subjectOf(name: string, digest: Digest): Subject {
  return { name, digest: { sha256: digestHex(digest) } };
}

/** A statement of `predicate` about `subject`. */
export function statement<P>(subject: Subject[], predicateType: string, predicate: P, type = IN_TOTO_STATEMENT_V01): Statement<P> {
  return { _type: type, subject, predicateType, predicate };
}
