/**
 * Sends the messages of one grpc-js server call without waiting for each write, counting
 * those sent and not yet written. grpc-js's writable side sends one message per HTTP/2 write
 * and waits for each write to finish before the next, so at high rates most of a message's
 * cost was the write; messages here go straight to the call's sendMessage (serialized, framed
 * and metered by grpc-js as usual), so the HTTP/2 stream buffers the messages of one turn and
 * writes them in one go. The caller stops sending while the window is full, and hears when
 * a write completes.
 */
import type * as grpc from "@grpc/grpc-js";

/** How much a call may hold unwritten, and how its messages become bytes. */
export interface SendWindowLimits {
  /** The method's response encoder: messages are encoded here so their bytes are counted. */
  readonly encode: (message: never) => Uint8Array;
  /** Messages unwritten at which the window is full. */
  readonly maxBuffered: number;
  /** Bytes unwritten at which the window is full (big messages: explanations, snapshots). */
  readonly maxBufferedBytes: number;
}

/** The part of grpc-js's intercepting call that sends one message (not exported by grpc-js). */
interface MessageSender {
  sendMessage(message: unknown, callback: () => void): void;
}

type WritableCall = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

/**
 * grpc-js's call under the stream, when this grpc-js has one where it is expected;
 * otherwise messages go through the stream's write like any stream's.
 */
function senderOf(call: WritableCall): MessageSender | undefined {
  const inner = (call as unknown as { call?: Partial<MessageSender> }).call;
  return typeof inner?.sendMessage === "function" ? (inner as MessageSender) : undefined;
}

/** One call's messages in flight. */
export class SendWindow {
  private readonly sender: MessageSender | undefined;
  /** Sizes of the messages sent and not yet written, oldest first (writes complete in order). */
  private readonly unwrittenSizes: number[] = [];
  private unwrittenBytes = 0;
  private readonly written = () => {
    this.unwrittenBytes -= this.unwrittenSizes.shift() ?? 0;
    this.onWritten();
  };

  constructor(
    private readonly call: WritableCall,
    private readonly limits: SendWindowLimits,
    /** Called after each write completes (room may have come back). */
    private readonly onWritten: () => void,
  ) {
    this.sender = senderOf(call);
  }

  /** Encodes and sends `message`. */
  send(message: unknown): void {
    const bytes = this.limits.encode(message as never);
    this.unwrittenSizes.push(bytes.byteLength);
    this.unwrittenBytes += bytes.byteLength;
    if (this.sender) this.sender.sendMessage(bytes, this.written);
    else this.call.write(bytes, this.written);
  }

  get full(): boolean {
    return (
      this.unwrittenSizes.length >= this.limits.maxBuffered ||
      this.unwrittenBytes >= this.limits.maxBufferedBytes
    );
  }
}
