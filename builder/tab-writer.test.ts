import { expect } from 'chai';
import { tabWrite } from './tab-writer.js';

describe('tabWrite (Go text/tabwriter with space padding)', () => {
  it('pads each cell to the widest in its block plus padding, at least minwidth, and leaves the last text alone', () => {
    // docker's table formatter: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0).
    expect(tabWrite('NAME/NODE\tSTATUS\tPLATFORMS\n \\_ default\trunning\tlinux/amd64', { minwidth: 10, padding: 3 }))
      .to.equal('NAME/NODE     STATUS    PLATFORMS\n \\_ default   running   linux/amd64');
  });

  it('ends a block at a line with fewer cells, so the columns before and after it align on their own', () => {
    expect(tabWrite('Name:\ta\nLast Activity:\tb\n\nNodes:\nName:\tn\n\tk:\tv', { minwidth: 0, padding: 1 }))
      .to.equal('Name:          a\nLast Activity: b\n\nNodes:\nName: n\n      k: v');
  });

  it('pads with tabs to the next multiple of tabwidth with padchar \\t, as buildx\'s bake --list', () => {
    expect(tabWrite('TARGET\tDESCRIPTION\ndefault\tthe app\na-very-long-name\t', { minwidth: 1, padding: 1, padchar: '\t', tabwidth: 8 }))
      .to.equal('TARGET\t\t\tDESCRIPTION\ndefault\t\t\tthe app\na-very-long-name\t');
  });
});
