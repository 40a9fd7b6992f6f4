import { digestHex, type Digest } from '../../registry/oci/index.js';

/**
 * The in-toto statement type of every attestation, SLSA v0.2 provenance and SBOMs included: BuildKit writes v1
 * statements since moby/buildkit f21f35fa (exporter/attestation/make.go, makeInTotoStatement); v0.1 before.
 */
const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
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
export function statement<P>(subject: Subject[], predicateType: string, predicate: P): Statement<P> {
  return { _type: IN_TOTO_STATEMENT_V1, subject, predicateType, predicate };
}
