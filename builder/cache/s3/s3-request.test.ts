import { expect } from 'chai';
import type { S3Location } from './s3-cache.js';
import { completeMultipartXml, s3ErrorCode, s3XmlText, signS3Request } from './s3-request.js';

describe('S3 request signing (AWS Signature Version 4)', () => {
  it('signs AWS\'s own example "PUT Object" to the signature the S3 documentation gives', () => {
    // docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Example: PUT Object" (its key has a
    // `$`, percent-encoded in the signed path). Its "GET Object" example signs a Range header, which aws4 never signs.
    const at: S3Location = {
      bucket: 'examplebucket', region: 'us-east-1', endpoint: 'https://s3.amazonaws.com', pathStyle: false,
      prefix: '', blobsPrefix: '', manifestsPrefix: '', names: ['x'], touchRefreshMs: 86_400_000,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    };
    const { url, signed } = signS3Request(at, 'PUT', 'test$file.text', {
      Date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    }, { date: new Date('2013-05-24T00:00:00Z') });
    expect(url).to.equal('https://examplebucket.s3.amazonaws.com/test%24file.text');
    expect(signed['Authorization']).to.equal('AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, '
      + 'SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('puts the bucket in the path for use_path_style and percent-encodes a digest key\'s colon', () => {
    const at: S3Location = {
      bucket: 'cache', region: 'eu-west-1', endpoint: 'http://127.0.0.1:9000', pathStyle: true,
      prefix: 'ci/', blobsPrefix: 'blobs/', manifestsPrefix: 'manifests/', names: ['x'], touchRefreshMs: 86_400_000,
      credentials: { accessKeyId: 'k', secretAccessKey: 's', sessionToken: 'tok' },
    };
    const { url, signed } = signS3Request(at, 'HEAD', 'ci/blobs/sha256:ab', {});
    expect(url).to.equal('http://127.0.0.1:9000/cache/ci/blobs/sha256%3Aab');
    expect(signed['X-Amz-Security-Token']).to.equal('tok');
    expect(signed['Authorization']).to.match(/^AWS4-HMAC-SHA256 Credential=k\/\d{8}\/eu-west-1\/s3\/aws4_request, /);
  });

  it('puts a subresource in the URL and the signed query: a bare `uploads`, `partNumber` and an encoded `uploadId`', () => {
    const at: S3Location = {
      bucket: 'cache', region: 'eu-west-1', endpoint: 'http://127.0.0.1:9000', pathStyle: true,
      prefix: '', blobsPrefix: 'blobs/', manifestsPrefix: 'manifests/', names: ['x'], touchRefreshMs: 86_400_000,
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    };
    const date = new Date('2024-01-02T03:04:05Z');
    expect(signS3Request(at, 'POST', 'blobs/a', {}, { query: { uploads: '' }, date }).url).to.equal('http://127.0.0.1:9000/cache/blobs/a?uploads');
    const part = signS3Request(at, 'PUT', 'blobs/a', {}, { query: { partNumber: '3', uploadId: 'x/y+z' }, date });
    expect(part.url).to.equal('http://127.0.0.1:9000/cache/blobs/a?partNumber=3&uploadId=x%2Fy%2Bz');
    // The query is signed: another upload id is another signature.
    const other = signS3Request(at, 'PUT', 'blobs/a', {}, { query: { partNumber: '3', uploadId: 'x/y+w' }, date });
    expect(other.signed['Authorization']).not.to.equal(part.signed['Authorization']);
  });

  it('reads values out of S3\'s XML answers (entities decoded) and writes CompleteMultipartUpload\'s part list', () => {
    expect(s3XmlText('<InitiateMultipartUploadResult><Bucket>b</Bucket><UploadId>VXBs&amp;b2Fk</UploadId></InitiateMultipartUploadResult>', 'UploadId')).to.equal('VXBs&b2Fk');
    expect(s3XmlText('<CopyPartResult><LastModified>2024</LastModified><ETag>&quot;b54357faf0632cce46e942fa68356b38&quot;</ETag></CopyPartResult>', 'ETag')).to.equal('"b54357faf0632cce46e942fa68356b38"');
    expect(s3ErrorCode('<?xml version="1.0"?><Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>')).to.equal('NoSuchUpload');
    expect(s3ErrorCode('<CompleteMultipartUploadResult><ETag>"x-2"</ETag></CompleteMultipartUploadResult>')).to.equal('');
    expect(completeMultipartXml(['"a"', '"b"'])).to.equal('<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
      + '<Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part></CompleteMultipartUpload>');
  });
});
