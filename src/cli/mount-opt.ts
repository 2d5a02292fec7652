/**
 * `--mount` values (CSV `key=value` fields) → HostConfig.Mounts entries, as the docker CLI's
 * opts.MountOpt parses them: the type defaults to `volume`, keys are case-insensitive,
 * relative `./` sources become absolute, and options of another type are refused.
 */
import { resolve } from 'node:path';
import { goParseBool } from '../core/go-parse.js';
import { ramInBytes } from '../core/units.js';
import { FlagError } from './create-config.js';

export interface MountFlag {
  Type: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/** One CSV record (encoding/csv's quoting: `"a,b"` is one field, `""` inside quotes is a quote). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    let field = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      while (i < line.length && line[i] !== ',') field += line[i++];
    } else {
      while (i < line.length && line[i] !== ',') field += line[i++];
    }
    fields.push(field);
    i++;
  }
  return fields;
}

export function parseMountFlag(raw: string, cwd = process.cwd()): MountFlag {
  const fail = (message: string): FlagError => new FlagError(`invalid argument "${raw}" for "--mount" flag: ${message}`);
  const value = raw.trim();
  if (value === '') throw fail('value is empty');
  const mount: MountFlag = { Type: 'volume' };
  const volumeOptions = (): NonNullable<MountFlag['VolumeOptions']> => (mount.VolumeOptions ??= {});
  const bindOptions = (): NonNullable<MountFlag['BindOptions']> => (mount.BindOptions ??= {});
  const tmpfsOptions = (): NonNullable<MountFlag['TmpfsOptions']> => (mount.TmpfsOptions ??= {});
  const setOnMap = (map: Record<string, string>, kv: string): void => {
    const eq = kv.indexOf('=');
    if (eq < 0) map[kv] = '';
    else map[kv.slice(0, eq)] = kv.slice(eq + 1);
  };
  for (const field of csvFields(value)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') mount.ReadOnly = true;
      else if (key === 'volume-nocopy') volumeOptions().NoCopy = true;
      else if (key === 'bind-nonrecursive') bindOptions().NonRecursive = true;
      else throw fail(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const val = field.slice(eq + 1);
    const bool = (): boolean => {
      const b = goParseBool(val);
      if (b === undefined) throw fail(`invalid value for ${key}: ${val}`);
      return b;
    };
    switch (key) {
      case 'type':
        mount.Type = val.toLowerCase();
        break;
      case 'source':
      case 'src':
        mount.Source = val === '.' || val.startsWith('./') ? resolve(cwd, val) : val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.Target = val;
        break;
      case 'readonly':
      case 'ro':
        mount.ReadOnly = bool();
        break;
      case 'consistency':
        mount.Consistency = val.toLowerCase();
        break;
      case 'bind-propagation':
        bindOptions().Propagation = val.toLowerCase();
        break;
      case 'bind-nonrecursive':
        bindOptions().NonRecursive = bool();
        break;
      case 'volume-nocopy':
        volumeOptions().NoCopy = bool();
        break;
      case 'volume-label':
        setOnMap((volumeOptions().Labels ??= {}), val);
        break;
      case 'volume-driver':
        (volumeOptions().DriverConfig ??= {}).Name = val;
        break;
      case 'volume-opt':
        setOnMap(((volumeOptions().DriverConfig ??= {}).Options ??= {}), val);
        break;
      case 'tmpfs-size':
        try {
          tmpfsOptions().SizeBytes = ramInBytes(val);
        } catch {
          throw fail(`invalid value for ${key}: ${val}`);
        }
        break;
      case 'tmpfs-mode':
        if (!/^[0-7]+$/.test(val) || Number.parseInt(val, 8) > 0xffffffff) throw fail(`invalid value for ${key}: ${val}`);
        tmpfsOptions().Mode = Number.parseInt(val, 8);
        break;
      default:
        throw fail(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (mount.Type === '') throw fail('type is required');
  if (!mount.Target) throw fail('target is required');
  if (mount.VolumeOptions && mount.Type !== 'volume') throw fail(`cannot mix 'volume-*' options with mount type '${mount.Type}'`);
  if (mount.BindOptions && mount.Type !== 'bind') throw fail(`cannot mix 'bind-*' options with mount type '${mount.Type}'`);
  if (mount.TmpfsOptions && mount.Type !== 'tmpfs') throw fail(`cannot mix 'tmpfs-*' options with mount type '${mount.Type}'`);
  return mount;
}
