import { Command } from 'ioredis';

/**
 * A script call as ioredis sends it, written out in fewer steps: the same bytes as `Command#toWritable`
 * (a test holds them equal), built as one string per stretch between `Buffer` arguments and copied into one
 * buffer, where ioredis builds and measures three pieces per argument. A call over many keys has hundreds of
 * arguments, most of them short strings between the entries' data.
 */
export class ScriptCallCommand extends Command {
  override toWritable(): string | Buffer {
    const args = this.args as (string | Buffer)[];
    let text = '*' + (args.length + 1) + '\r\n$' + this.name.length + '\r\n' + this.name + '\r\n';
    let pieces: (string | Buffer)[] | null = null;
    let length = 0;
    for (let index = 0; index < args.length; index++) {
      const arg = args[index]!;
      if (typeof arg === 'string') {
        text += '$' + Buffer.byteLength(arg) + '\r\n' + arg + '\r\n';
        continue;
      }
      text += '$' + arg.length + '\r\n';
      (pieces ??= []).push(text, arg);
      length += Buffer.byteLength(text) + arg.length;
      text = '\r\n';
    }
    // No Buffer among the arguments: ioredis writes such a command as a string too.
    if (pieces === null) return text;
    pieces.push(text);
    const written = Buffer.allocUnsafe(length + Buffer.byteLength(text));
    let at = 0;
    for (const piece of pieces) at += typeof piece === 'string' ? written.write(piece, at) : piece.copy(written, at);
    return written;
  }
}
