// RFC 9457 problem details (lib/api/problem.ts).
import { describe, expect, it } from 'vitest';
import { ApiError, badRequest, notFound, problemBody } from '../../../lib/api/problem.ts';

describe('ApiError', () => {
  it('is an Error whose message is the detail', () => {
    const error = new ApiError(409, 'destination-taken', 'Conflict', 'taken by record x');
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('taken by record x');
    expect(error.name).toBe('ApiError');
    expect(error.headers).toEqual({});
  });

  it('keeps the headers it is given', () => {
    expect(new ApiError(401, 'unauthorized', 'Unauthorized', 'no', { 'www-authenticate': 'Bearer' }).headers).toEqual({ 'www-authenticate': 'Bearer' });
  });
});

describe('problemBody', () => {
  it('has the RFC 9457 fields, a urn type from the code, and the request id', () => {
    const body = problemBody(new ApiError(409, 'destination-taken', 'Conflict', 'taken by record x'), 'req-1');
    expect(body).toStrictEqual({
      type: 'urn:imagesync:problem:destination-taken',
      title: 'Conflict',
      status: 409,
      detail: 'taken by record x',
      request_id: 'req-1',
    });
  });

  it('leaves request_id out of the JSON when there is none', () => {
    const json = JSON.parse(JSON.stringify(problemBody(notFound('no record y'))));
    expect(json).toStrictEqual({ type: 'urn:imagesync:problem:not-found', title: 'Not found', status: 404, detail: 'no record y' });
  });

  it('does not carry the extra headers into the body', () => {
    const body = problemBody(new ApiError(401, 'unauthorized', 'Unauthorized', 'no', { 'www-authenticate': 'Bearer' }), 'r');
    expect(Object.keys(body).sort()).toEqual(['detail', 'request_id', 'status', 'title', 'type']);
  });
});

describe('helpers', () => {
  it('badRequest is 400 with its code', () => {
    const e = badRequest('invalid-json', 'not JSON');
    expect([e.status, e.code, e.title, e.detail]).toEqual([400, 'invalid-json', 'Bad request', 'not JSON']);
    expect(problemBody(e).type).toBe('urn:imagesync:problem:invalid-json');
  });

  it('notFound is 404 not-found', () => {
    const e = notFound('gone');
    expect([e.status, e.code, e.title, e.detail]).toEqual([404, 'not-found', 'Not found', 'gone']);
  });

});
